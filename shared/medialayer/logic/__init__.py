"""Business logic over models: no HTTP, no Lambda events, no boto3."""
