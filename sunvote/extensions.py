"""Flask extensions, created unbound here and bound to the app in create_app()."""

from __future__ import annotations

from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect

from sunvote.models.base import Base

db = SQLAlchemy(model_class=Base)
migrate = Migrate(render_as_batch=True, compare_type=True)
login_manager = LoginManager()
csrf = CSRFProtect()
babel = Babel()
#: Counters of refused attempts (services/limits.py). Its storage is SUNVOTE_RATELIMIT_STORAGE_URI:
#: memory for one process, Redis when several gunicorn workers must share the counts. The
#: address it sees is the client's only behind a trusted proxy (SUNVOTE_TRUSTED_PROXIES).
limiter = Limiter(key_func=get_remote_address)
