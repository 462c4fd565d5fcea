"""Code holders: people, their declarations and stored colour, dynamic numbers, notifications
and SMS."""
