"""`name_in` prints a staff member of a value row as `str(user)` does; "" for nobody."""

from dealership.models import User
from dealership.staff_names import name_in


def test_name_in_reads_the_relations_own_columns():
    row = {
        "advisor_first_name": "芳",
        "advisor_last_name": "王",
        "advisor_username": "wangfang",
        "handed_over_to_first_name": "",
        "handed_over_to_last_name": "",
        "handed_over_to_username": "li",
        "receiver_first_name": None,
        "receiver_last_name": None,
        "receiver_username": None,
    }
    assert name_in(row, "advisor") == str(
        User(first_name="芳", last_name="王", username="wangfang")
    )
    assert name_in(row, "handed_over_to") == str(User(username="li"))
    assert name_in(row, "receiver") == ""
