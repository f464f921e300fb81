"""Forms that say what went wrong (idp/web/templates/forms.html)."""

ZH = {
    "Please correct the following:": "请修改以下内容：",
}
