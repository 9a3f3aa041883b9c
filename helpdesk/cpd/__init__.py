"""The CPD hour: subscriptions and the push, rules and belts, lesson choice and checks, reports."""
