"""The support programme around the helpdesk (issue 16): live helpdesk sessions and teacher hubs.

sessions.py and hubs.py are pure (rules, menus, texts); service.py is their database edge and sends through
helpdesk.outbound; chat.py applies a teacher's turn (conversation.Programme effects); texts.py holds the words
(helpdesk/content/programme.yaml).
"""
