# ruff: noqa: E501 - one translation a line
"""The sign-in side: finished steps, the sign-in forms, SMS resend and change number."""

ZH = {
    "This step is done": "此步骤已完成",
    "You already signed in to %(name)s with this page. Nothing more needs doing here.": "您已通过此页面登录“%(name)s”，无需再做任何操作。",
    "You already signed in with this page. Nothing more needs doing here.": "您已通过此页面完成登录，无需再做任何操作。",
    "You already answered %(name)s: you did not allow it to use your account. Nothing more needs doing here.": "您已答复“%(name)s”：未同意其使用您的账号。无需再做任何操作。",
    "You already answered this request. Nothing more needs doing here.": "您已答复此请求，无需再做任何操作。",
    "Continue to %(name)s": "继续前往“%(name)s”",
    "Enter your account.": "请输入账号。",
    "Enter your password.": "请输入密码。",
    "This code can no longer be used: it expired, or a wrong code was typed too many times. Your number is kept below: send a new code.": "该验证码已无法使用：已过期，或输错次数过多。您的手机号码已保留在下方，请重新获取验证码。",
    "A new code is on its way. The earlier code no longer works.": "新的验证码正在发送，之前的验证码已失效。",
    "A new code can be sent in %(seconds)d seconds.": "%(seconds)d 秒后可重新发送验证码。",
    "You can ask for a new code in %(seconds)s seconds.": "%(seconds)s 秒后可重新获取验证码。",
    "No code arrived? You can ask for a new one now.": "没有收到验证码？现在可以重新获取。",
    "Change number": "更换手机号码",
    "You cannot act for that organisation (any more). Choose again.": "您不能（或已不能）代表该单位办理业务，请重新选择。",
}
