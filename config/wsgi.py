import os

from django.core.wsgi import get_wsgi_application

from config.logmask import install as install_log_mask
from config.memory import tune_garbage_collector

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

application = get_wsgi_application()
tune_garbage_collector()
# gunicorn's own loggers have handlers of their own (its error log): the personal data filter
# goes on them too, as on settings.LOGGING's.
install_log_mask()
