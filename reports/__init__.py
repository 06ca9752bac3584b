"""What subscribers receive: `bulletin` makes an edition from the published snapshot (read only),
`delivery` emails it and serves the site."""
