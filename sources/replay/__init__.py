"""The publishers emulated on loopback, over illustrative samples: for `eim demo` and the tests only.

One module per publisher, as the connectors are, plus the server that routes to them. Nothing on the
real path (`flows.cli run`, the connectors, the warehouse, the reports) imports this package.
"""
