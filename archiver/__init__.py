"""archiver: an encrypted, searchable compliance archive for WhatsApp and Telegram exports."""

__version__ = "0.1.0"
