"""All outgoing wording: every notice, reminder and digest line the services send, one module per area.

Storage decides who gets what and writes the outbox rows; it never words a message. Each notice is built here as
reply items (message ids with parameters), so every recipient reads it in their own language. The buttons a
notice carries are `Button` objects defined next to it and used by the handler's `@action` too."""
