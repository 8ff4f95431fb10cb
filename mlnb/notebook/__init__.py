"""Everything that knows about IPython and Jupyter; the core never imports this."""
