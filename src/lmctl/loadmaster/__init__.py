"""The typed LoadMaster client: both API dialects behind one interface."""
