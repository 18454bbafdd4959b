"""AI-assisted inductive coding, locally: segment embeddings, candidate codes, coding suggestions.

Everything here runs on the researcher's machine with models installed as
packages; nothing is sent anywhere.
"""
