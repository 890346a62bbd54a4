"""The Docker Engine API over aiohttp: one module per resource group, one error mapping."""
