"""Channel-neutral messaging: Incoming → identity → router → flow step → Replies."""
