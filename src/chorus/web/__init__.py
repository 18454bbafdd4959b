"""The team web app (``chorus serve``): code transcripts in the browser, with accounts and roles."""
