"""The support programme around the helpdesk: live sessions, teacher hubs, suggestions, the planner digest."""
