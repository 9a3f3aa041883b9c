"""Subject experts: tickets, routing, phone and CLI commands, FAQ review, service figures."""
