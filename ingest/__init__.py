"""Ingest: read, clean, parse, dedupe, tag, chunk, embed and store interview Q&A documents."""
