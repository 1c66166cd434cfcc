from django.urls import path

from villages import views

urlpatterns = [
    path("auth/login", views.LoginView.as_view(), name="auth-login"),
    path("auth/logout", views.LogoutView.as_view(), name="auth-logout"),
    path("me", views.MeView.as_view(), name="me"),
    path("areas", views.AreaListView.as_view(), name="area-list"),
    path("areas/<area_code:code>", views.AreaDetailView.as_view(), name="area-detail"),
    path("areas/<area_code:code>/targets", views.AreaTargetListView.as_view(), name="area-target-list"),
    path("areas/<area_code:code>/targets/<int:year>", views.AreaTargetDetailView.as_view(), name="area-target-detail"),
    path("users", views.UserListView.as_view(), name="user-list"),
    path("users/<int:pk>", views.UserDetailView.as_view(), name="user-detail"),
    path("devices", views.DeviceListView.as_view(), name="device-list"),
    path("devices/<int:pk>/revoke", views.DeviceRevokeView.as_view(), name="device-revoke"),
]
