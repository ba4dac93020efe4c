"""Data access: the only package that imports boto3. Logic sees repositories and models."""
