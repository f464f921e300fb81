"""Simplified Chinese for every UI string. `make i18n` extracts the English msgids and
writes them with these translations to idp/web/translations/zh/LC_MESSAGES/messages.po."""

ZH = {
    "The password must have at least 8 characters.": "密码至少需要 8 个字符。",
    "The password is too long (at most 1024 characters).": "密码过长（最多 1024 个字符）。",
    "This password is too common and easy to guess. Choose another one.":
        "该密码过于常见，容易被猜中，请换一个。",
    "The password must not contain your account name or phone number.":
        "密码不能包含您的用户名或手机号码。",
    "Your current password is incorrect.": "当前密码不正确。",
    "The two new passwords do not match.": "两次输入的新密码不一致。",
    "Your password has been changed. Your other sessions were signed out.":
        "密码已修改，您在其他设备上的登录已全部退出。",
    "That session has already ended.": "该会话已经结束。",
    "The session has been ended.": "该会话已结束。",
    "All your other sessions have been ended.": "您在其他设备上的会话已全部结束。",
    "This page has expired": "页面已过期",
    "For your security the form could not be accepted. Go back, reload the page and try again.":
        "为保障您的安全，本次提交未被接受。请返回并刷新页面后重试。",
    "Service temporarily unavailable": "服务暂时不可用",
    "We cannot complete your request right now. Nothing has been changed. "
    "Please try again in a few minutes.":
        "暂时无法完成您的请求，您的数据未作任何更改。请稍后几分钟再试。",
    "Something went wrong": "出错了",
    "Please try again later.": "请稍后再试。",
    "Request refused": "请求被拒绝",
    "Bad request": "请求有误",
    "Forbidden": "无权访问",
    "Page not found": "页面不存在",
    "Method not allowed": "不支持该请求方式",
    "Request too large": "请求内容过大",
    "Check the address, or go back to the previous page.": "请检查网址，或返回上一页。",
    "An unexpected error occurred. Please try again later.": "发生意外错误，请稍后再试。",
    "Too many attempts": "尝试次数过多",
    "Too many failed attempts. Try again in %(minutes)d minutes.":
        "失败次数过多，请 %(minutes)d 分钟后再试。",
    "Enter your account and password.": "请输入账号和密码。",
    "Too many failed attempts. Try again in %(minutes)d minutes, or reset your password.":
        "失败次数过多，请 %(minutes)d 分钟后再试，或重置密码。",
    "The account or password is incorrect.": "账号或密码错误。",
    "You have signed out.": "您已安全退出。",
    "My account": "个人中心",
    "User name": "用户名",
    "(not set)": "（未设置）",
    "Name": "姓名",
    "(not verified)": "（未实名）",
    "Mobile number": "手机号码",
    "(none)": "（无）",
    "Assurance level": "可信等级",
    "Level %(n)d": "%(n)d 级",
    "Registered": "注册时间",
    "Change password": "修改密码",
    "At least 8 characters. Long passphrases in any language are welcome; "
    "common passwords are refused.":
        "至少 8 个字符。支持任意语言的长密码短语；常见密码将被拒绝。",
    "Current password": "当前密码",
    "New password": "新密码",
    "Repeat the new password": "再次输入新密码",
    "Where you are signed in": "登录设备管理",
    "Device": "设备",
    "Channel": "渠道",
    "Signed in": "登录时间",
    "Last active": "最近活动",
    "Unknown device": "未知设备",
    "Online service hall": "网上办事大厅",
    "Mobile app": "移动端",
    "Kiosk": "自助终端",
    "Hotline": "服务热线",
    "This device": "当前设备",
    "End": "结束",
    "Sign out everywhere else": "退出其他所有设备",
    "Unified Identity Authentication Platform": "统一身份认证平台",
    "Display options": "显示选项",
    "Standard view": "标准模式",
    "Large text": "长者模式",
    "Sign out": "退出登录",
    "Your personal information is protected by law and used only to prove who you are.":
        "您的个人信息受法律保护，仅用于核验您的身份。",
    "Back to the start page": "返回首页",
    "Sign in": "登录",
    "One account for every government service, online, in the app, at kiosks and on the "
    "hotline.": "一个账号，办遍政务服务：网上办事大厅、移动端、自助终端和服务热线通用。",
    "Account": "账号",
    "User name or mobile number": "用户名或手机号码",
    "Password": "密码",
    "Do you want to sign out of the unified identity platform on this device?":
        "确定要在本设备上退出统一身份认证平台吗？",
    "Stay signed in": "保持登录",
}
