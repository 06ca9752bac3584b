"""One module per publisher: fetch over httpx, parse to a tidy frame. No Prefect, no warehouse."""
