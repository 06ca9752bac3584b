"""Getting editions to people: the subscriber store, the one SMTP client (operators' alerts use it
too), the edition emails with their unsubscribe tokens, and the site server."""
