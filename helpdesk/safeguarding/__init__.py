"""Safeguarding triage: rules, the optional semantic signal, evaluation, CLI."""
