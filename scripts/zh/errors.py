# ruff: noqa: E501 - one translation a line
"""Error pages (idp/web/error_words.py, templates/error.html), the service named on
sign-in and consent (templates/requester.html)."""

ZH = {
    # what happened and what to do, per error code
    "The service that sent you here asked in a way we cannot accept. This is not your fault. Go back to the service and try again; if it happens again, tell its help desk the error code below.": "将您引导至此的服务发出的请求不符合规范，无法受理。这不是您的操作问题。请返回该服务重试；如再次出现，请将下方的错误代码告知该服务的客服。",
    "The service needs you to sign in or confirm something before it can go on. Go back to the service and start again; this time we will show you the page to do it.": "该服务需要您先登录或确认相关事项才能继续。请返回该服务重新发起，届时我们会为您显示相应页面。",
    "The service that sent you here is not registered with this platform, so we cannot sign you in to it. Go back to the service's own website and start again; if it happens again, tell its help desk the error code below.": "将您引导至此的服务未在本平台登记，因此无法为您登录该服务。请回到该服务的官方网站重新发起；如再次出现，请将下方的错误代码告知该服务的客服。",
    "The service that sent you here gave an address to return to that it has not registered, so for your safety we stopped here. Go back to the service and start again.": "将您引导至此的服务提供的返回地址未经登记，为保障您的安全，已停止本次登录。请返回该服务重新发起。",
    "The service asked for information it is not allowed to receive, so nothing was sent. Go back to the service and try again; if it happens again, tell its help desk the error code below.": "该服务申请获取其无权获得的信息，因此未发送任何信息。请返回该服务重试；如再次出现，请将下方的错误代码告知该服务的客服。",
    "You declined, so the service receives nothing from your account. You can close this page or go back to the service.": "您已拒绝授权，该服务不会获得您账号的任何信息。您可以关闭本页面或返回该服务。",
    "This service needs a stronger proof of who you are than your account can give now. Raise your assurance level in the account centre (for example by verifying your real name), then go back to the service.": "该服务要求的身份核验等级高于您账号当前的可信等级。请在账号中心提升可信等级（例如完成实名认证）后，再返回该服务。",
    "This sign-in page is no longer valid: it took too long, or it was already finished. Nothing was sent. Go back to the service and start again.": "本次登录页面已失效：等待时间过长，或登录已经完成。未发送任何信息。请返回原服务重新发起。",
    "The sign-in that approved this request has ended. Start again on the device.": "批准此请求的登录已结束，请在设备上重新发起。",
    "The service asked to sign you out in a way we cannot accept, so nothing was changed: you may still be signed in. Sign out in the account centre, or go back to the service; if it happens again, tell its help desk the error code below.": "该服务发出的退出登录请求不符合规范，未作任何更改，您可能仍处于登录状态。请在个人中心退出登录，或返回该服务；如再次出现，请将下方的错误代码告知该服务的客服。",
    "For your security the form could not be accepted because the page was open too long. Go back, reload the page and try again.": "页面打开时间过长，为保障安全，本次提交未被受理。请返回并刷新页面后重试。",
    "There is no page at this address. Check the address, or go back.": "此地址没有对应的页面。请核对网址，或返回上一页。",
    "This page cannot be used this way. Go back to the previous page and try again.": "无法以此方式使用本页面。请返回上一页重试。",
    "The request could not be understood. Go back and try again.": "无法识别该请求。请返回后重试。",
    "You may not open this page. Go back to the previous page.": "您无权打开此页面。请返回上一页。",
    "What was sent is too large. Go back, send less (a smaller file or shorter text) and try again.": "提交的内容过大。请返回后减少内容（例如更小的文件或更短的文字）再试。",
    "Too many attempts. Wait a few minutes and try again.": "尝试次数过多，请等待几分钟后再试。",
    "An unexpected error occurred on our side. Nothing has been changed. Please try again later; if it happens again, tell the help desk the error code below.": "平台发生意外错误，您的信息未作任何更改。请稍后再试；如再次出现，请将下方的错误代码告知客服。",
    # the way back and the small print
    "Back to %(name)s": "返回“%(name)s”",
    "Back to the previous page": "返回上一页",
    "Go to my account": "前往个人中心",
    "Error code: %(code)s": "错误代码：%(code)s",
    # the service that is asking (templates/requester.html)
    "Service: %(name)s": "申请服务：%(name)s",
    "After signing in you go to: %(name)s": "登录后将前往：%(name)s",
    "Acting for: %(name)s": "办事身份：%(name)s",
}
