"""The admin's wiring: Django's and django-axes' own admins restricted to filter lookups, as ours are."""

from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.contrib import admin
from django.contrib.auth.models import Group, User

from eventstore.admin.toolkit import FilterLookupsOnly

# Django's and django-axes' own admins take any lookup on any column from the query string too
# (`/admin/auth/user/?email__regex=(` is a server error): the same restriction as ours.
for _model in (User, Group, AccessAttempt, AccessLog, AccessFailureLog):
    _their_admin = type(admin.site._registry[_model])
    admin.site.unregister(_model)
    admin.site.register(_model, type(_their_admin.__name__, (FilterLookupsOnly, _their_admin), {}))
