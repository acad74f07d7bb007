"""The form renderer (settings.FORM_RENDERER): every form and field through one template."""

from django.forms.renderers import TemplatesSetting


class FormRenderer(TemplatesSetting):
    """`{{ form }}` renders `_form.html`, `{{ field.as_field_group }}` renders `_field.html`
    (label, widget, errors next to the field, help), through the project's template engine."""

    form_template_name = "_form.html"
    field_template_name = "_field.html"
