namespace FixedShapeAttention.Generators;

/// <summary>Names of the [SentenceEncoderShape] pipeline's steps, for the incrementality tests.</summary>
internal static class SentenceEncoderTrackingNames
{
    public const string Parse = "SentenceEncoderParse";
    public const string Diagnostics = "SentenceEncoderDiagnostics";
    public const string Output = "SentenceEncoderOutput";
    public const string BucketShapes = "SentenceEncoderBucketShapes";
}
