"""Heavy steps of Storybank: transcription, tagging, redaction, publishing and the job queue."""
