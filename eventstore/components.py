"""Components: the apps that process the log, found from INSTALLED_APPS.

A component is a Django app whose `AppConfig` is a `Component`. Installing it is all the wiring
it needs: when its app is ready, its consumer groups (`GROUPS`, or `GROUP`, in its `reactions`
module) and its projectors (`PROJECTORS` in its `projections` module, if it has one) are
registered, and it joins the list below, from which the rest is read::

    class ReturnsConfig(components.Component):  # in returns/apps.py, after `from eventstore import components`
        name = "returns"
        order_streams = ("return",)     # return-{order_id} is part of an order's story

- Celery's queues: a worker serves every registered group's queue (`queues()`, set on the worker
  as it starts, in shopsite/celery.py); nothing to add to the settings.
- An order's story: the stream categories each installed component writes an order's events to
  (`order_streams()`), read by the admin's order page and the webhooks.

The groups and projectors go to the one registry (`eventstore.registry.Registry`, one instance for
each kind). The mechanics import no component: this module imports a component's modules by its
name only.
"""

from __future__ import annotations

from functools import cached_property
from importlib import import_module
from typing import TYPE_CHECKING

from django.apps import AppConfig, apps
from django.utils.module_loading import module_has_submodule

if TYPE_CHECKING:  # an apps module imports this one before the models can be: the rest is lazy
    from eventstore.consumers import ConsumerGroup
    from eventstore.projections import Projector

#: The queues served whatever is installed: tasks with no queue of their own, and the projectors.
BASE_QUEUES = ("default", "projections")


class Component(AppConfig):
    """The `AppConfig` of a processing component (docs/design.md, "Adding a component").

    An apps module names it through this module (`components.Component`): Django takes the one
    AppConfig class an apps module holds, and would find two if it held this one too.
    """

    default_auto_field = "django.db.models.BigAutoField"
    #: The categories of the streams of an order's events this component writes ("payment": the
    #: stream payment-{order_id}).
    order_streams: tuple[str, ...] = ()

    def ready(self) -> None:
        from eventstore import consumers, personal_data, projections, upcasting

        for group in self.consumer_groups:
            consumers.register(group)
        for projector in self.projectors():
            projections.register(projector)
        upcasting.register(self.declared("upcasters", "UPCASTERS"))
        personal_data.declare(self.declared("personal_data", "PERSONAL_DATA"))

    @cached_property
    def consumer_groups(self) -> tuple[ConsumerGroup, ...]:
        """Its groups, read once (the task router asks for them at every send of its tasks)."""
        reactions = import_module(f"{self.name}.reactions")
        return tuple(getattr(reactions, "GROUPS", None) or (reactions.GROUP,))

    def projectors(self) -> tuple[Projector, ...]:
        return self.declared("projections", "PROJECTORS")

    def declared(self, module: str, name: str) -> tuple:
        """What the component's module `module` lists under `name`; () when it has no such module."""
        if not module_has_submodule(self.module, module):
            return ()
        return tuple(getattr(import_module(f"{self.name}.{module}"), name))


def installed() -> list[Component]:
    """The installed components, in the order of INSTALLED_APPS."""
    return [config for config in apps.get_app_configs() if isinstance(config, Component)]


def order_streams() -> tuple[str, ...]:
    """The stream categories of an order's events, over every installed component."""
    return tuple(category for component in installed() for category in component.order_streams)


def queues() -> tuple[str, ...]:
    """Every queue a worker serves: the base ones and each registered consumer group's."""
    from eventstore import consumers

    found = dict.fromkeys(BASE_QUEUES)
    found.update(dict.fromkeys(group.queue for group in consumers.registered()))
    return tuple(found)


def route(name: str, args: tuple, kwargs: dict, options: dict, task=None, **_) -> dict | None:
    """Celery's router (CELERY_TASK_ROUTES): a consumer group's drains and deliveries go to the
    group's queue, projector runs to `projections`, and a component's own tasks (`webhooks.tasks.*`)
    to the queue of its first group."""
    from eventstore import consumers

    if name in ("eventstore.tasks.drain", "eventstore.tasks.deliver"):
        return {"queue": consumers.group(args[0]).queue}
    if name in ("eventstore.tasks.project", "eventstore.tasks.rebuild_projection"):
        return {"queue": "projections"}
    for component in installed():
        if name.startswith(f"{component.name}.tasks.") and (groups := component.consumer_groups):
            return {"queue": groups[0].queue}
    return None
