using Xunit;

namespace FixedShapeAttention.Models.Tests;

/// <summary>The tests sharing one <see cref="MiniLmFixture"/> (the model is 91 MB: load it once).</summary>
[CollectionDefinition(nameof(MiniLmCollection))]
public sealed class MiniLmCollection : ICollectionFixture<MiniLmFixture>
{
}
