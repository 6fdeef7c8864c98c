using System;
using System.IO;

namespace FixedShapeAttention.SampleModels.Packaging;

/// <summary>
/// A read-only, seekable view of <c>[start, start + length)</c> of a file stream, which it owns. Lets a resource
/// embedded in a DLL be read in place instead of being copied into memory first (the model is ~91 MB).
/// </summary>
internal sealed class FileWindowStream : Stream
{
    private readonly Stream _file;
    private readonly long _start;
    private readonly long _length;
    private long _position;

    public FileWindowStream(Stream file, long start, long length)
    {
        _file = file;
        _start = start;
        _length = length;
    }

    public override bool CanRead => true;

    public override bool CanSeek => true;

    public override bool CanWrite => false;

    public override long Length => _length;

    public override long Position
    {
        get => _position;
        set => _position = value >= 0 ? value : throw new ArgumentOutOfRangeException(nameof(value));
    }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        long available = _length - _position;
        if (available <= 0)
            return 0;
        if (buffer.Length > available)
            buffer = buffer[..(int)available];
        _file.Position = _start + _position;
        int read = _file.Read(buffer);
        _position += read;
        return read;
    }

    public override long Seek(long offset, SeekOrigin origin)
    {
        Position = origin switch
        {
            SeekOrigin.Begin => offset,
            SeekOrigin.Current => _position + offset,
            SeekOrigin.End => _length + offset,
            _ => throw new ArgumentOutOfRangeException(nameof(origin)),
        };
        return _position;
    }

    public override void Flush()
    {
    }

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
            _file.Dispose();
        base.Dispose(disposing);
    }
}
