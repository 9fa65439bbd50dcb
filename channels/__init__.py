"""Customer channels other than the web chat; each speaks its provider's wire format."""
