"""Pydantic models shared by handlers, logic and data access."""
