"""The panel's views, one module per page group; each validates a form, calls one service or
selector, and renders a template."""
