"""The orders read models in the admin, read only; an order's page tells its whole story, and
staff allowed to may cancel the order from it (a cancel sent through the gateway, never a row edited)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.utils import quote, unquote
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from contracts.order_status import CANCELLABLE_STATUSES
from eventstore import mapping, personal_data
from eventstore.admin.toolkit import ReadModelAdmin, event_list_link, pretty_json
from eventstore.models import Event
from eventstore.outcomes import MESSAGE_TYPE
from gateway.one_time_keys import OneTimeKeyField
from gateway.service import GatewayError, IdempotencyKeyReused
from gateway.staff import send_staff_cancel

from . import order_page, service, time_travel
from .models import CustomerOrders, LeadTimesByDay, OrdersPlacedByStatus, OrderSummary, ProductSales, SalesByDay
from .order_page import order_story

#: The read model's statuses in which an order can still be cancelled: before dispatch. They only
#: decide whether the button shows; the orders component decides the cancel itself, as the read
#: model may lag behind a dispatch (a cancel after it is rejected).
MAX_REASON_LENGTH = 1000


class CancelOrderForm(forms.Form):
    """A staff cancel: its reason, and the one-time key the form was rendered with, which makes
    a double submit send one message."""

    reason = forms.CharField(
        max_length=MAX_REASON_LENGTH,
        widget=forms.Textarea(attrs={"rows": 4, "class": "vLargeTextField"}),  # the admin's wide text area
        help_text="Kept in the order's story, with your username.",
    )
    form_key = OneTimeKeyField()


def story_row(event: Event) -> tuple[Any, ...]:
    """One event of an order's story as its table shows it: when, component, stream, event, who
    sent it (a raw message's staff user and partner), its reason, its data, and the link to the
    order summary as it was right after it (time travel). Its data as the code reads it
    (`eventstore.mapping.as_read`: upcast, personal data opened, or erased once forgotten); the
    event's own page shows the row as stored beside it."""
    data = mapping.as_read(event).data
    return (
        event.recorded_at.strftime("%Y-%m-%d %H:%M:%S.%f")[:-3],
        event.category,
        event_list_link(_short_stream(event), full_text=event.stream_id, stream_id=event.stream_id),
        event_list_link(event.event_type, event_id=str(event.event_id)),
        _sender(event),
        data.get("reason") if isinstance(data.get("reason"), str) else "",
        pretty_json(data),
        f"?{time_travel.PARAMETER}={event.position}#time-travel",
        event.position,
    )


def _short_stream(event: Event) -> str:
    """The stream id cut to its category and 8 characters (a message's stream is named by a UUID)."""
    cut = len(event.category) + 1 + 8
    return event.stream_id if len(event.stream_id) <= cut + 1 else f"{event.stream_id[:cut]}…"


def _sender(event: Event) -> str:
    if event.event_type != MESSAGE_TYPE:
        return ""
    user, partner = event.metadata.get("user"), event.metadata.get("partner") or ""
    return f"{user} ({partner})" if user else partner


#: The read model row's fields shown as they are; lines and the address have views of their own.
ROW_FIELDS = [f.name for f in OrderSummary._meta.fields if f.name != "lines" and not f.name.startswith("shipping_")]


@admin.register(OrderSummary)
class OrderSummaryAdmin(ReadModelAdmin):
    list_display = ("order_id", "status", "customer_email", "total", "currency", "partner", "placed_at", "updated_at")
    list_filter = ("status", "payment_status", "shipment_status", "partner")
    # order_id = %s OR UPPER(customer_email) LIKE UPPER(%%s%%) OR UPPER(customer_name) LIKE ...,
    # each word of the search ANDed: a scan of the read model (one row per order), no index.
    search_fields = ("order_id__exact", "customer_email__icontains", "customer_name__icontains")
    search_help_text = "An exact order id, or part of the customer's email or name (any case)."
    ordering = ("-placed_at",)
    date_hierarchy = "placed_at"
    fieldsets = (
        ("Read model row (order_summary)", {"fields": ROW_FIELDS}),
        ("Lines", {"fields": ["order_lines"]}),
        ("Shipping address", {"fields": ["address"]}),
        ("Failed charges", {"fields": ["failed_charges"]}),
        ("Story: every event of the order, in log order", {"fields": ["story"]}),
    )

    class Media:
        css = {"all": ["orders/order-story.css"]}

    def get_readonly_fields(self, request, obj=None) -> list[str]:
        return [*super().get_readonly_fields(request, obj), "order_lines", "address", "failed_charges", "story"]

    @admin.display(description="lines")
    def order_lines(self, summary: OrderSummary) -> SafeString:
        return order_page.lines_table(summary)

    @admin.display(description="ships to")
    def address(self, summary: OrderSummary) -> SafeString:
        return order_page.shipping_address(summary)

    @admin.display(description="failed")
    def failed_charges(self, summary: OrderSummary) -> SafeString:
        return order_page.failed_charges(summary)

    @admin.display(description="events")
    def story(self, summary: OrderSummary) -> SafeString:
        rows = format_html_join(
            "",
            '<tr id="event-{8}"><td>{0}</td><td>{1}</td><td>{2}</td><td>{3}</td><td>{4}</td>'
            '<td class="story-reason">{5}</td><td><details><summary>data</summary>{6}</details></td>'
            '<td><a href="{7}" class="as-of" title="The order summary as it was right after this event">'
            "as it was</a></td></tr>",
            map(story_row, order_story(summary)),
        )
        return format_html(
            '<table class="order-story" id="story"><thead><tr><th>recorded at</th><th>component</th><th>stream</th>'
            "<th>event</th><th>by</th><th>reason</th><th></th><th>time travel</th></tr></thead><tbody>{}</tbody>"
            "</table>",
            rows,
        )

    # --- cancel: a staff action that sends a message ---------------------------------------------

    def get_urls(self) -> list[URLPattern]:
        cancel = path(
            "<path:object_id>/cancel/",
            self.admin_site.admin_view(self.cancel_view),
            name=f"{self.opts.app_label}_{self.opts.model_name}_cancel",
        )
        # Before the model's own URLs, whose "<path:object_id>/" would take it.
        return [cancel, *super().get_urls()]

    def has_cancel_permission(self, request: HttpRequest) -> bool:
        """Cancelling orders acts on them: staff with the `orders.cancel_order` permission."""
        return request.user.has_perm(f"{self.opts.app_label}.cancel_order")

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if obj is not None and obj.status in CANCELLABLE_STATUSES and self.has_cancel_permission(request):
            context["cancel_url"] = self._url("cancel", obj)
        refused = False
        if obj is not None and time_travel.PARAMETER in request.GET:
            context["time_travel"], refused = self._time_travel(request, obj)
        response = super().render_change_form(request, context, add=add, change=change, form_url=form_url, obj=obj)
        if refused:
            response.status_code = 400
        return response

    def _time_travel(self, request: HttpRequest, summary: OrderSummary) -> tuple[SafeString, bool]:
        """The panel of the order summary as it was after the event `?as_of=` names (its position),
        beside the row now; or, for an event not in the story, the refusal in words."""
        close_url = f"{request.path}#story"
        try:
            found = time_travel.as_of(summary, order_story(summary), request.GET[time_travel.PARAMETER])
        except time_travel.NotInStory as refused:
            return time_travel.refusal(str(refused), close_url=close_url), True
        return time_travel.panel(found, close_url=close_url), False

    def cancel_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """The confirmation form (GET) and the cancel it sends through the gateway (POST)."""
        if not self.has_cancel_permission(request):
            raise PermissionDenied
        summary = self.get_object(request, unquote(object_id))
        if summary is None:
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        if request.method == "POST":
            form = CancelOrderForm(request.POST)
            if form.is_valid():
                return self._send_cancel(request, summary, form)
        elif summary.status not in CANCELLABLE_STATUSES:
            too_late = f"Order {summary.order_id} is {summary.status}: it can no longer be cancelled."
            self.message_user(request, too_late, messages.WARNING)
            return redirect(self._url("change", summary))
        else:
            form = CancelOrderForm()
        return self._cancel_page(request, summary, form)

    def _cancel_page(self, request: HttpRequest, summary: OrderSummary, form: CancelOrderForm) -> TemplateResponse:
        context = {
            **self.admin_site.each_context(request),
            "title": f"Cancel order {summary.order_id}",
            "opts": self.opts,
            "summary": summary,
            "form": form,
            "adminform": helpers.AdminForm(form, [(None, {"fields": ["reason"]})], {}),
            "change_url": self._url("change", summary),
            "media": self.media + form.media,
        }
        return TemplateResponse(request, "admin/orders/ordersummary/cancel.html", context)

    def _send_cancel(self, request: HttpRequest, summary: OrderSummary, form: CancelOrderForm) -> HttpResponse:
        change_url = self._url("change", summary)
        try:
            receipt = send_staff_cancel(
                summary.order_id,
                reason=form.cleaned_data["reason"],
                user=request.user.get_username(),
                # The key rendered in the form: a second submit of the same form sends nothing more.
                idempotency_key=f"admin-cancel-{form.cleaned_data['form_key']}",
            )
        except IdempotencyKeyReused:
            # Sent before with another reason (back, edit, submit again): the first cancel stands.
            self.message_user(
                request,
                "This form was already sent, with another reason: that first cancel stands; "
                "the order's story shows its outcome.",
                messages.WARNING,
            )
            return redirect(change_url)
        except GatewayError as refused:
            form.add_error(None, f"Nothing was sent: {refused}")
            return self._cancel_page(request, summary, form)
        sent = "Cancel already sent" if receipt.replayed else "Cancel sent"
        self.message_user(
            request, f"{sent} (message {receipt.message_id}); the order's story shows the outcome.", messages.SUCCESS
        )
        return redirect(change_url)

    def _url(self, view: str, summary: OrderSummary) -> str:
        return reverse(
            f"admin:{self.opts.app_label}_{self.opts.model_name}_{view}",
            args=[quote(summary.pk)],
            current_app=self.admin_site.name,
        )


@admin.register(SalesByDay)
class SalesByDayAdmin(ReadModelAdmin):
    list_display = ("day", "currency", "orders", "revenue")
    list_filter = ("currency",)
    ordering = ("-day", "currency")
    date_hierarchy = "day"


@admin.register(OrdersPlacedByStatus)
class OrdersPlacedByStatusAdmin(ReadModelAdmin):
    list_display = ("day", "status", "orders")
    list_filter = ("status",)
    ordering = ("-day", "status")
    date_hierarchy = "day"


@admin.register(LeadTimesByDay)
class LeadTimesByDayAdmin(ReadModelAdmin):
    """Lead-time buckets (orders.report_days.lead_bucket); `total` is the sum of the leads in microseconds."""

    list_display = ("day", "bucket", "orders", "total")
    ordering = ("-day", "bucket")
    date_hierarchy = "day"


@admin.register(ProductSales)
class ProductSalesAdmin(ReadModelAdmin):
    list_display = ("sku", "currency", "quantity", "orders", "revenue")
    list_filter = ("currency",)
    search_fields = ("sku__exact",)
    ordering = ("-quantity",)


@admin.register(CustomerOrders)
class CustomerOrdersAdmin(ReadModelAdmin):
    """Customers; staff with `orders.forget_customer` may forget the ones they tick (the right to be
    forgotten, docs/design.md 6.9), after a page that says what it does and asks again."""

    list_display = ("email", "name", "orders", "cancelled", "first_order_at", "last_order_at", "last_order_id")
    actions = ("forget_customers",)
    # UPPER(email) LIKE UPPER('%...%') OR UPPER(name) LIKE ...: a scan of the read model (one row per customer).
    search_fields = ("email__icontains", "name__icontains")
    search_help_text = "Part of the customer's email or name (any case)."
    ordering = ("-last_order_at",)

    def has_forget_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(f"{self.opts.app_label}.forget_customer")

    @admin.action(description="Forget the selected customers…", permissions=["forget"])
    def forget_customers(self, request: HttpRequest, queryset) -> TemplateResponse | None:
        """First the confirmation page; its POST (`confirmed=yes`) forgets each customer through
        `orders.service.forget_customer`, in the staff user's name."""
        customers = list(queryset.order_by("email"))
        if request.POST.get("confirmed") != "yes":
            context = {
                **self.admin_site.each_context(request),
                "title": "Forget customers",
                "opts": self.opts,
                "customers": customers,
                "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            }
            return TemplateResponse(request, "admin/orders/customerorders/forget_confirm.html", context)
        # The messages name no one: they are kept in the session until shown.
        who = {"staff_user": request.user.get_username()}
        done = already = unknown = 0
        for customer in customers:
            try:
                forgotten = service.forget_customer(customer.email, metadata=who)
            except personal_data.UnknownCustomer:
                unknown += 1
                continue
            done, already = done + forgotten.recorded, already + (not forgotten.recorded)
        if done:
            self.message_user(request, f"{done} customer(s) forgotten: their keys destroyed.", messages.SUCCESS)
        if already:
            self.message_user(request, f"{already} customer(s) had been forgotten already.", messages.INFO)
        if unknown:
            self.message_user(request, f"{unknown} customer(s): no data is held about them.", messages.WARNING)
        return None
