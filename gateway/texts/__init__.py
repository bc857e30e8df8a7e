"""One inbound text: the Twilio webhook, the intake, opt-out state and the message log."""
