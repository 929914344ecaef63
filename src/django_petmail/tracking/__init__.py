"""ESP tracking events (through anymail's ``tracking`` signal) → the send ledger."""
