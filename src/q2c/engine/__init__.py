"""The sync engine: events, durable queue, delivery with retries, dead letters, replay, links, audit."""
