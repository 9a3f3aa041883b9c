"""The support programme around the helpdesk (issue 16): live sessions, teacher hubs, suggestions, the
planner digest.

sessions.py and hubs.py are pure (rules, menus, texts); service.py is their database edge and sends through
helpdesk.outbound; chat.py applies a teacher's turn (conversation.Programme effects); texts.py holds the words
(helpdesk/content/programme.yaml). suggestions.py is pure (scrubbing, counts, clusters), suggestion_store.py
its database edge; the planner digest is built in analytics/digest.py and mailed by helpdesk/mail.py.
"""
