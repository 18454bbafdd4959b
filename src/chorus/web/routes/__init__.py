"""The web app's routes, one module per family of pages: accounts, the study, transcripts, coding, analysis, exchange."""
