"""The browser's date and time pickers, for every form.

A picker takes only ISO values (`2026-12-01`, `2026-12-01T09:30`). Django writes a date
field's value in the language's input format, in Chinese `2026/12/01`: the browser then
shows the picker empty and a form sent back untouched clears the date. These widgets
always write ISO, and Django reads ISO back in every language.
"""

from django import forms


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, attrs=None):
        super().__init__(attrs, format="%Y-%m-%d")


class DateTimeInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self, attrs=None):
        super().__init__(attrs, format="%Y-%m-%dT%H:%M")
