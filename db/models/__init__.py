"""All mapped models. Each domain owns one module; importing this package registers them all."""

# Domain modules added by their owners register here too (each is a separate file):
from db.models import attendance, broadcast, calendar, wechat  # noqa: F401
from db.models.core import *  # noqa: F403
from db.models.delivery import *  # noqa: F403
