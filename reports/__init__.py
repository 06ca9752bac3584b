"""The bulletin: figures from the published snapshot (read only), narrative, rendering."""
