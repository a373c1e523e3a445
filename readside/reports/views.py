"""The staff reports' views: validate the date range, build the reports, render them. Staff only."""

from __future__ import annotations

import csv

from django.contrib.admin.views.decorators import staff_member_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from .forms import DateRangeForm, quick_ranges
from .sections import REPORTS, all_reports, compared, key_figures


@staff_member_required
def reports_page(request: HttpRequest) -> HttpResponse:
    """Every report for the range in the query string (default: the last 30 days)."""
    form = DateRangeForm(request.GET)
    quick = quick_ranges(timezone.localdate())
    if not form.is_valid():
        return render(request, "reports/index.html", {"form": form, "quick_ranges": quick}, status=400)
    period = form.date_range()
    context = {
        "form": form,
        "period": period,
        "compared": compared(period),
        "quick_ranges": quick,
        "figures": key_figures(period),
        "reports": all_reports(period),
    }
    return render(request, "reports/index.html", context)


@staff_member_required
def report_csv(request: HttpRequest, name: str) -> HttpResponse:
    """One report as CSV, with a header row, as a download."""
    build = REPORTS.get(name)
    if build is None:
        raise Http404(f"No report named {name!r}.")
    form = DateRangeForm(request.GET)
    if not form.is_valid():
        problems = "; ".join(message for messages in form.errors.values() for message in messages)
        return HttpResponse(f"Date range not valid: {problems}\n", status=400, content_type="text/plain")
    period = form.date_range()
    report = build(period)
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    filename = f"{name}_{period.first_day.isoformat()}_{period.last_day.isoformat()}.csv"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    writer = csv.writer(response)
    writer.writerow(report.header)
    writer.writerows([[_spreadsheet_safe(cell) for cell in row] for row in report.rows])
    return response


def _spreadsheet_safe(cell: str) -> str:
    """A text cell a spreadsheet would run as a formula (a SKU from a partner could be one) is quoted."""
    return "'" + cell if cell[:1] in ("=", "+", "-", "@", "\t", "\r") else cell
