"""The agent: a tool loop over the providers, with sessions and context management."""
