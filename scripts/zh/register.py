# ruff: noqa: E501 - one translation a line
"""Registration, recovery, real-name and agreement pages: SMS-code steps that keep the
number, ask for a new code or change it, and say when a step is done."""

ZH = {
    "in %(n)d seconds": "%(n)d 秒后",
    "in %(n)d minutes": "%(n)d 分钟后",
    "Too many codes were requested for this number or from this network. You can ask for a new code %(when)s.": "该号码或当前网络请求验证码次数过多，%(when)s可重新获取验证码。",
    "This code can no longer be used: it was typed wrongly too many times, or more than 10 minutes have passed. Ask for a new code below; your number is kept.": "验证码已失效：输错次数过多，或已超过 10 分钟。请在下方重新获取验证码，您填写的手机号码已保留。",
    "This page has expired (after 30 minutes). Please enter your mobile number again.": "页面已过期（超过 30 分钟），请重新填写手机号码。",
    "No code, or a wrong number?": "没有收到验证码，或手机号码填错了？",
    "Codes are sent at most once a minute: you can ask for a new one %(when)s.": "验证码每分钟最多发送一次，%(when)s可重新获取。",
    "You can ask for a new code now. The previous code stops working.": "现在可以重新获取验证码，之前的验证码将失效。",
    "Send a new code": "重新获取验证码",
    "Change the number": "更换手机号码",
    "A new code was sent to %(phone)s.": "新的验证码已发送至 %(phone)s。",
    "If the number has an account, a new code is on its way.": "如该号码已注册，新的验证码已发送。",
    "Registration complete": "注册完成",
    "Your account for %(phone)s has been created; this step is done and does not need to be repeated.": "手机号码 %(phone)s 的账号已创建。此步骤已完成，无需重复操作。",
    "Continue to the service": "继续办理业务",
    "Verify your real name": "进行实名认证",
    "Open my account centre": "进入个人中心",
    "You have accepted this version of the agreement. This step is done; nothing more is needed.": "您已同意此版本的协议。此步骤已完成，无需再做任何操作。",
    "Remembered it? Sign in": "想起密码了？去登录",
    "Your password has been reset": "密码已重置",
    "The new password for the account of %(phone)s is set; this step is done and does not need to be repeated. Every device was signed out.": "手机号码 %(phone)s 的账号已设置新密码。此步骤已完成，无需重复操作。所有设备均已退出登录。",
    "Sign in with the new password": "使用新密码登录",
}
