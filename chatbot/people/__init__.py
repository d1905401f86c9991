"""People, roles and scopes, invite codes, binding, and the one authorization layer."""
