"""A campaign's VIN list from the brand: upload, preview, confirm, progress per VIN."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from dealership.roles import Role, has_role, role_required
from dealership.web import submit

from .. import recalls
from ..access import BOARD_ROLES
from ..forms import RecallUploadForm
from ..models import Campaign, RecallImport


@role_required(*BOARD_ROLES)
def campaign_vins(request, pk: int):
    campaign = get_object_or_404(Campaign.objects.select_related("labour_operation"), pk=pk)
    status = request.GET.get("status", "")
    if status not in recalls.RecallStatus.LABELS:
        status = ""
    return render(
        request,
        "appointments/recall_vins.html",
        {
            "campaign": campaign,
            "progress": recalls.recall_progress(campaign),
            "rows": recalls.recall_vins(
                campaign, status=status, query=request.GET.get("q", "")[:40]
            ),
            "status": status,
            "statuses": recalls.RecallStatus.LABELS.items(),
            "can_manage": has_role(request.user, [Role.SERVICE_MANAGER]),
        },
    )


@role_required(Role.SERVICE_MANAGER)
@require_http_methods(["GET", "POST"])
def recall_import(request, pk: int):
    campaign = get_object_or_404(Campaign, pk=pk)
    return submit(
        request,
        # Bound on every POST: the file is the form's only field, so POST itself may be empty.
        RecallUploadForm(request.POST, request.FILES)
        if request.method == "POST"
        else RecallUploadForm(),
        lambda data: recalls.recall_import_preview(
            campaign=campaign, upload=data["file"], actor=request.user
        ),
        done=lambda preview: redirect("appointments:recall_import_preview", preview.pk),
        show_form=lambda form: render(
            request,
            "appointments/recall_import.html",
            {"campaign": campaign, "form": form},
            status=400 if request.method == "POST" else 200,
        ),
    )


@role_required(Role.SERVICE_MANAGER)
def recall_import_preview(request, pk: int):
    preview = get_object_or_404(RecallImport.objects.select_related("campaign"), pk=pk)
    return render(
        request,
        "appointments/recall_import_preview.html",
        {"preview": preview, "campaign": preview.campaign, "adding": len(preview.new_vins)},
    )


@role_required(Role.SERVICE_MANAGER)
@require_POST
def recall_import_confirm(request, pk: int):
    preview = get_object_or_404(RecallImport, pk=pk)
    try:
        added = recalls.recall_import_confirm(recall_import=preview, actor=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, _("%(count)s VINs added to the campaign.") % {"count": added})
    return redirect("appointments:campaign_vins", preview.campaign_id)
